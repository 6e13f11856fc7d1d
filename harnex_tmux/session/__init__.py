"""A session seen from outside: finding it, its sidecar's client, controlling it, sending to
it, reading its pane. Empty on purpose: quick commands import only the module they need."""
