"""The per-session sidecar: owns the pane, the API, readiness, and the session's files."""
