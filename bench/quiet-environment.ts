// Imported first by bench/run.ts: ESM evaluates imports in order, so loggers created later see these values.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
