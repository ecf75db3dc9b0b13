// Drives sous through the npm @anthropic-ai/claude-agent-sdk; run by test_npm_sdk.py.
// Usage: node npm_sdk_probe.mjs SCENARIO, with SDK_MODULE (the sdk.mjs file), SOUS_CLI (the
// executable that runs sous) and PROJECT (the working folder) in the environment.
// Prints each SDK message as one JSON line, then {"probe": {...}} with what the program saw.
import { pathToFileURL } from "node:url";

const { query, createSdkMcpServer, tool } = await import(pathToFileURL(process.env.SDK_MODULE).href);
const scenario = process.argv[2];
const probe = { asked: [], hooked: [] };

function prompts(texts, waitFor) {
  return (async function* () {
    for (const [i, text] of texts.entries()) {
      if (i > 0) await waitFor(i);
      yield { type: "user", message: { role: "user", content: text }, parent_tool_use_id: null, session_id: "" };
    }
    await waitFor(texts.length); // stdin stays open until the last answer, so control requests can still go
  })();
}

// The next prompt goes once the previous one has its result, as a person at a chat would send it.
let results = 0;
const waiters = [];
function resultCount(n) {
  if (results >= n) return Promise.resolve();
  return new Promise((resolve) => waiters.push([n, resolve]));
}
function resultSeen() {
  results += 1;
  for (const [n, resolve] of waiters.splice(0)) {
    if (results >= n) resolve();
    else waiters.push([n, resolve]);
  }
}

const options = {
  pathToClaudeCodeExecutable: process.env.SOUS_CLI,
  cwd: process.env.PROJECT,
  model: process.env.SOUS_MODEL,
  env: { ...process.env },
};
let texts = ["go"];
if (scenario === "tool") {
  options.permissionMode = "bypassPermissions";
} else if (scenario === "deny") {
  options.canUseTool = async (toolName, input) => {
    probe.asked.push([toolName, input]);
    return { behavior: "deny", message: "not here, use the STAGING copy" };
  };
} else if (scenario === "hook") {
  options.permissionMode = "bypassPermissions";
  const guard = async (input) => {
    probe.hooked.push([input.hook_event_name, input.tool_name]);
    return {
      hookSpecificOutput: {
        hookEventName: "PreToolUse",
        permissionDecision: "deny",
        permissionDecisionReason: "GUARD-SAYS-NO",
      },
    };
  };
  options.hooks = { PreToolUse: [{ matcher: "Bash", hooks: [guard] }] };
} else if (scenario === "prompt") {
  options.systemPrompt = "You are PIRATE-PROMPT.";
} else if (scenario === "preset") {
  options.systemPrompt = { type: "preset", preset: "claude_code", append: "Always APPENDED-RULE." };
} else if (scenario === "multi") {
  texts = ["remember PLUM", "which fruit?"];
} else if (scenario === "interrupt") {
  options.permissionMode = "bypassPermissions";
} else if (scenario === "mcp") {
  const { z } = await import(pathToFileURL(process.env.ZOD_MODULE).href);
  const add = tool("add", "Add two numbers", { a: z.number(), b: z.number() }, async (args) => {
    probe.asked.push(["add", args]);
    return { content: [{ type: "text", text: `sum=${args.a + args.b}` }] };
  });
  options.mcpServers = { calc: createSdkMcpServer({ name: "calc", version: "1.0.0", tools: [add] }) };
  options.allowedTools = ["mcp__calc__add"];
} else {
  throw new Error(`unknown scenario ${scenario}`);
}

const q = query({ prompt: prompts(texts, resultCount), options });
const started = Date.now();
for await (const message of q) {
  console.log(JSON.stringify(message));
  if (scenario === "interrupt" && message.type === "assistant") {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await q.interrupt();
  }
  if (message.type === "result") {
    resultSeen();
    if (results === texts.length) break;
  }
}
probe.seconds = (Date.now() - started) / 1000;
console.log(JSON.stringify({ probe }));
