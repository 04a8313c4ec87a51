import { App } from "aws-cdk-lib";
import { createMarketoIngestApp } from "./create-app.ts";

createMarketoIngestApp(new App());
