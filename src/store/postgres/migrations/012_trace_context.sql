-- The W3C trace context (a small JSON object of propagation headers) captured when the job was
-- enqueued under an active OpenTelemetry span, so its attempts continue that trace in whichever process
-- claims them. NULL when no tracing SDK is registered (nothing to propagate): adding a nullable column
-- without a default is a catalog change only, no table rewrite.
ALTER TABLE jobs ADD COLUMN trace_context text;
