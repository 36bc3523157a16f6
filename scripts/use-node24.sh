# Sourced by scripts that need Node >= 22: puts Node 24 (npm package `node@24`, cached under
# ~/.cache/mcp-fleet) first on PATH when the machine's own node is older.
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  node_dir="${HOME}/.cache/mcp-fleet/node24"
  if ! "$node_dir/node_modules/node/bin/node" --version >/dev/null 2>&1; then
    mkdir -p "$node_dir"
    (cd "$node_dir" && npm init -y >/dev/null && npm install --no-audit --no-fund node@24 >/dev/null)
  fi
  export PATH="$node_dir/node_modules/node/bin:$PATH"
fi
