import { Duration, RemovalPolicy } from "aws-cdk-lib";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  type LifecycleRule,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

export interface SecureBucketProps {
  /** Where server access logs go; omit only for the access-log bucket itself. */
  accessLogs?: { bucket: IBucket; prefix: string };
  lifecycleRules?: LifecycleRule[];
}

/**
 * A bucket for personal data: no public access, bucket-owner-enforced objects, TLS-only, encrypted, versioned
 * (version ids make file processing once-only), access-logged, kept when the stack is deleted.
 * SSE-S3 rather than KMS: no key policy to get wrong and no per-request KMS cost on multi-GB files; the
 * threat model (data at rest in one account) is the same.
 */
export class SecureBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id);
    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.accessLogs
        ? { serverAccessLogsBucket: props.accessLogs.bucket, serverAccessLogsPrefix: props.accessLogs.prefix }
        : {}),
      lifecycleRules: [
        { id: "expire-old-versions", noncurrentVersionExpiration: Duration.days(30) },
        { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(2) },
        ...(props.lifecycleRules ?? []),
      ],
    });
  }
}
