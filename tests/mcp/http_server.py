import sys

try:
    from mcp.server.mcpserver import MCPServer as App
except ImportError:
    from mcp.server.fastmcp import FastMCP as App
app = App("echo")


@app.tool()
def shout(text: str) -> str:
    """Upper-cases text."""
    return text.upper()


port = int(sys.argv[1])
try:
    app.run(transport="streamable-http", host="127.0.0.1", port=port)
except TypeError:
    app.settings.host, app.settings.port = "127.0.0.1", port
    app.run(transport="streamable-http")
