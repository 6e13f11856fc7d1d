"""``harnex mcp``: the MCP server, its HTTP transport and the client config snippets."""
