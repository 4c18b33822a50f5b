// Go smoke app: a CmekKey with grantees and the deletion guard, a CmekBucket, an EnvelopeEncryptedObject, and the
// deletion monitor and usage auditor around them, built from the Go module `npx projen package:go` writes. Same stack, ids and values as app.ts: the smoke test compares
// the two templates.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdk-cmek/cdk-cmek-go/cdkcmek"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: smoke SEED_FILE (examples/seed/vendor-manifest.json)")
		os.Exit(2)
	}
	seed := os.Args[1]

	app := awscdk.NewApp(&awscdk.AppProps{AnalyticsReporting: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("CmekGoSmoke"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("999999999999"), Region: jsii.String("eu-west-1")},
	})

	key := cdkcmek.NewCmekKey(stack, jsii.String("VendorKey"), &cdkcmek.CmekKeyProps{
		Alias:       jsii.String("cmek/acme"),
		Description: jsii.String("Acme processes the platform data with this key"),
		Grantees: &[]cdkcmek.CmekGrantee{
			cdkcmek.CmekGrantee_Account(jsii.String("111122223333"), &cdkcmek.CmekGranteeOptions{
				Name:        jsii.String("acme"),
				ViaServices: jsii.Strings("s3.eu-west-1.amazonaws.com"),
			}),
			cdkcmek.CmekGrantee_Role(jsii.String("arn:aws:iam::111122223333:role/acme-audit"), &cdkcmek.CmekGranteeOptions{
				Actions: &[]cdkcmek.CmekAction{cdkcmek.CmekAction_DECRYPT, cdkcmek.CmekAction_DESCRIBE_KEY},
			}),
		},
		DeletionGuard: &cdkcmek.DeletionGuardOptions{
			MinDaysUnused:       jsii.Number(180),
			ExemptPrincipalArns: jsii.Strings("arn:aws:iam::999999999999:role/KeyBreakGlass"),
		},
	})
	data := cdkcmek.NewCmekBucket(stack, jsii.String("Data"), &cdkcmek.CmekBucketProps{EncryptionKey: key})
	data.GrantCrossAccountRead(cdkcmek.CmekGrantee_Account(jsii.String("111122223333"), &cdkcmek.CmekGranteeOptions{Name: jsii.String("acme")}))

	cdkcmek.NewEnvelopeEncryptedObject(stack, jsii.String("VendorManifest"), &cdkcmek.EnvelopeEncryptedObjectProps{
		Bucket:            data.Bucket(),
		Key:               key,
		ObjectKey:         jsii.String("vendor/acme/manifest.json"),
		Source:            cdkcmek.EnvelopeSource_FromFile(jsii.String(seed)),
		EncryptionContext: &map[string]*string{"vendor": jsii.String("acme")},
		ContentType:       jsii.String("application/json"),
	})

	monitor := cdkcmek.NewKeyDeletionMonitor(stack, jsii.String("KeyDeletionMonitor"), &cdkcmek.KeyDeletionMonitorProps{
		Keys: &[]awskms.IKey{key},
	})
	cdkcmek.NewKeyUsageAuditor(stack, jsii.String("KeyUsageAuditor"), &cdkcmek.KeyUsageAuditorProps{
		ThresholdDays: jsii.Number(365),
		AliasPrefix:   jsii.String("alias/cmek/"),
		Topic:         monitor.Topic(),
	})

	app.Synth(nil)
}
