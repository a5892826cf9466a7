-- Headless Neovim as a second real LSP client (tests/server/test_neovim.py runs it):
--   KM_SERVER_CMD  JSON list, the command that starts the server (e.g. ["python3","-m","keras_migrate","server"])
--   KM_OUT         where to write what Neovim saw (JSON)
--   nvim --headless -u tests/server/nvim_init.lua path/to/file.py
-- The configuration part is the same as in docs/editors.md.
local out_path = os.getenv("KM_OUT") or "nvim_result.json"
local cmd = vim.fn.json_decode(os.getenv("KM_SERVER_CMD") or '["keras-migrate", "server"]')
local result = { diagnostics = {}, errors = {} }

local function finish()
  local f = io.open(out_path, "w")
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.lsp.stop_client(vim.lsp.get_active_clients())
  vim.cmd("qa!")
end

local config = {
  name = "keras-migrate",
  cmd = cmd,
  root_dir = vim.fn.getcwd(),
  init_options = { settings = { debounceMs = 50 } },
}

local function start()
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id
  if vim.lsp.start then            -- Neovim >= 0.8
    client_id = vim.lsp.start(config)
  else                              -- Debian's 0.7
    client_id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
  local ok = vim.wait(30000, function() return #vim.diagnostic.get(bufnr) > 0 end, 20)
  if not ok then table.insert(result.errors, "no diagnostics within 30 s") end
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local lsp = (d.user_data or {}).lsp or {}
    table.insert(result.diagnostics, {
      lnum = d.lnum, col = d.col, end_col = d.end_col, message = d.message,
      source = d.source or lsp.source, code = d.code or lsp.code, severity = d.severity,
    })
  end
  local client = vim.lsp.get_client_by_id(client_id)
  result.server_name = client and client.server_capabilities and client.name
  local first = vim.diagnostic.get(bufnr)[1]
  if first then
    local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) },
                     position = { line = first.lnum, character = first.col + 1 } }
    local hover = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, 10000) or {}
    for _, r in pairs(hover) do
      if r.result and r.result.contents then result.hover = r.result.contents.value end
    end
    local actions = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", {
      textDocument = { uri = vim.uri_from_bufnr(bufnr) },
      range = { start = { line = first.lnum, character = first.col }, ["end"] = { line = first.lnum, character = first.end_col } },
      context = { diagnostics = { {
        range = { start = { line = first.lnum, character = first.col }, ["end"] = { line = first.lnum, character = first.end_col } },
        message = first.message, severity = first.severity, source = first.source,
        code = first.code or ((first.user_data or {}).lsp or {}).code,
      } } },
    }, 10000) or {}
    result.actions = {}
    for _, r in pairs(actions) do
      if r.err then table.insert(result.errors, "codeAction: " .. vim.inspect(r.err)) end
      for _, a in ipairs(r.result or {}) do table.insert(result.actions, a.title) end
    end
  end
  finish()
end

vim.defer_fn(function()
  local ok, err = pcall(start)
  if not ok then
    table.insert(result.errors, tostring(err))
    finish()
  end
end, 0)
