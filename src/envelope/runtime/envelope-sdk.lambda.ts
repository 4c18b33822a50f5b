// The SDK part of the envelope handler, bundled on its own and loaded by clients.ts on its first request.
export { DecryptCommand, GenerateDataKeyCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
export { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
export { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
export { Upload } from '@aws-sdk/lib-storage';
