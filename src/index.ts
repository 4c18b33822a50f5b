// cdk-cmek: customer-managed KMS keys for vendors and cross-account workloads.
export {};
