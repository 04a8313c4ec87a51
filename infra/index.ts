/** The package entry (`marketo-ingest/infra`): the construct to embed in your own CDK app, and its props. */
export {
  MarketoIngestion,
  MarketoIngestionPropsError,
  validateMarketoIngestionProps,
  type MarketoIngestionNetwork,
  type MarketoIngestionProps,
  type MarketoSecretRef,
} from "./marketo-ingestion.ts";
export { MarketoIngestStack, type MarketoIngestStackProps } from "./marketo-ingest-stack.ts";
