import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { MarketoIngestion, type MarketoIngestionProps } from "./marketo-ingestion.ts";

export type { MarketoSecretRef } from "./marketo-ingestion.ts";

export interface MarketoIngestStackProps extends StackProps {
  /**
   * What the pipeline is given (secret, key, topic, VPC, retention…); every field has a default. A function gets
   * the stack, to import existing resources (Key.fromKeyArn, Bucket.fromBucketName…) into it first.
   */
  ingestion?: MarketoIngestionProps | ((stack: Stack) => MarketoIngestionProps);
}

/** This repository's deployable: one MarketoIngestion in a stack of its own (`npx cdk deploy`, see create-app.ts). */
export class MarketoIngestStack extends Stack {
  readonly ingestion: MarketoIngestion;

  constructor(scope: Construct, id: string, props: MarketoIngestStackProps = {}) {
    super(scope, id, props);
    // "Default" adds nothing to logical ids: the resources keep the ids they had before the construct existed.
    const ingestion = typeof props.ingestion === "function" ? props.ingestion(this) : props.ingestion;
    this.ingestion = new MarketoIngestion(this, "Default", ingestion);
  }
}
