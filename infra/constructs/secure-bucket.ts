import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
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
  /** Customer-managed key for SSE-KMS (with an S3 Bucket Key, so multi-GB files cost few KMS calls); else SSE-S3. */
  encryptionKey?: IKey;
  /** What CloudFormation does with the bucket when it leaves the stack. */
  removalPolicy?: RemovalPolicy;
  /** Days a version stays once it is no longer current (a re-upload or an expiry made it so). */
  noncurrentVersionDays?: number;
}

/**
 * A bucket for personal data: no public access, bucket-owner-enforced objects, TLS-only, encrypted, versioned
 * (version ids make file processing once-only), access-logged, kept when the stack is deleted unless told.
 * SSE-S3 unless a customer-managed key is given: no key policy to get wrong and no per-request KMS cost.
 */
export class SecureBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id);
    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.encryptionKey
        ? { encryption: BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      versioned: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...(props.accessLogs
        ? { serverAccessLogsBucket: props.accessLogs.bucket, serverAccessLogsPrefix: props.accessLogs.prefix }
        : {}),
      lifecycleRules: [
        { id: "expire-old-versions", noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30) },
        { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(2) },
        ...(props.lifecycleRules ?? []),
      ],
    });
  }
}
