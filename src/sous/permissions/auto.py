"""The `auto` permission mode: a model judges the calls the mode would otherwise ask about.

Only a call that asks *because of the mode's default* (`Decision.source` "mode:auto") is judged.
Everything else that asks keeps asking, whatever a judge would say (the guardrails):

- deny rules and ask rules (decided before the mode: their decisions never reach here);
- the safety floor and protected files (source "safety": a typed confirmation);
- commands the parser cannot read (source "parse");
- leaving the sandbox (`dangerouslyDisableSandbox`);
- the network: a WebFetch, or a Bash command naming a host, or running a network client
  (curl, wget, ssh...), to a domain no rule allows and the person's messages do not name;
- reading credentials: `~/.ssh`, `~/.aws`, `~/.netrc`, `.env` files, private keys... (`SECRETS`);
- anything like a call the person denied earlier in this session (same tool and same file,
  same URL host, or same program and subcommand).

A judge that raises, times out (`autoMode.timeoutSeconds`, 15 s by default) or answers outside
the format (see `judge.parse_verdict`) leaves the call asking the person, which denies it when
nobody is there (`-p`). A judge's "allow" is never remembered: the next similar call is judged
afresh. Each judgement is announced (a dim `auto:` line), logged with its reason as the
permission decision's source `auto:<judge model>`, kept for `/permissions`, and its tokens, cost
and time are counted for `/cost` and the headless result.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sous.core import CancelToken, Emit, Model, Notice, ToolCall, Usage
from sous.records import field, record, replace

from . import judge
from .decide import Decision, Rules, split_command

DEFAULT_TIMEOUT = 15.0
SMALL_MODELS = {"anthropic": "anthropic:claude-haiku-4-5", "openai": "openai:gpt-5-mini"}
"""The default judge per provider: a small fast model; other providers judge with the main model."""
NETWORK_CLIENTS = {
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "ssh",
    "scp",
    "sftp",
    "ftp",
    "telnet",
    "http",
    "https",
    "xh",
    "socat",
    "aria2c",
    "lynx",
    "w3m",
    "links",
}
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"`<>|;&)]+")
SECRETS = re.compile(
    r"(^|/)(\.ssh/(?!known_hosts$|[^/]*\.pub$)|\.aws/|\.gnupg/|\.azure/|\.kube/config$|\.docker/config\.json$"
    r"|\.config/(gh|gcloud)/|\.netrc$|\.pgpass$|\.git-credentials$|\.npmrc$|\.pypirc$"
    r"|\.env(\.(?!example$|sample$|template$)[^/]*)?$|[^/]*\.(pem|key|p12|pfx)$|id_(rsa|dsa|ecdsa|ed25519)$)"
)
"""Files that hold credentials: reading one is never judged."""
SCP_HOST = re.compile(r"^(?:[\w.-]+@)?([\w-]+(?:\.[\w-]+)+):")


@record
class Judgement:
    """One call the judge decided (or failed to), for `/permissions` and the log."""

    number: int
    call: str
    decision: str
    """"allow", "deny", or "failed" (then the person was asked)."""
    reason: str
    agent: str = ""
    latency_ms: int = 0
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    cwd: str = "."


@record(frozen=False)
class Spend:
    """What judging cost this session."""

    usage: Usage = field(default_factory=Usage)
    latency_ms: int = 0
    count: int = 0


class AutoJudge:
    """Judges the mode-default asks of an `auto` session (shared by its sub-agents)."""

    def __init__(
        self,
        *,
        rules: Rules,
        user_messages: Callable[[], tuple[str, ...]],
        model: Model | Callable[[], Model],
        timeout: float = DEFAULT_TIMEOUT,
        allowed_domains: tuple[str, ...] = (),
        emit: Emit = lambda e: None,
    ):
        self.rules = rules
        self.user_messages = user_messages
        self._model = model
        self.timeout = timeout
        self.allowed_domains = allowed_domains
        self.emit = emit
        self.history: list[str] = []
        """Every call that ran, as `Tool(arguments)`, oldest first (never an output)."""
        self.user_denied: list[tuple[str, frozenset[str]]] = []
        self.judgements: list[Judgement] = []
        self.spend = Spend()
        self._pending: asyncio.Future | None = None

    @property
    def model(self) -> Model:
        """The judge model; resolved on first use when given as a factory (a bad `autoMode.judgeModel`
        then fails the first judgement, which falls back to asking)."""
        if callable(self._model) and not hasattr(self._model, "complete"):
            self._model = self._model()
        return self._model  # type: ignore[return-value]  # a factory was replaced by its model just above

    def guardrail(self, call: ToolCall, decision: Decision, cwd: str = ".") -> str | None:
        """Why this ask may not be judged, or None when it may."""
        if decision.behavior != "ask" or not decision.source.startswith("mode:"):
            return f"{decision.source} asks"
        if call.arguments.get("dangerouslyDisableSandbox"):
            return "the call leaves the sandbox"
        if host := self._foreign_host(call):
            return f"the call reaches {host}, a host no rule allows"
        if secret := _secret_read(call, cwd):
            return f"the call reads {secret}, which holds credentials"
        keys = similarity_keys(call.name, call.arguments)
        if any(tool == call.name and keys & denied for tool, denied in self.user_denied):
            return "you denied a call like this one earlier in the session"
        return None

    async def review(self, call: ToolCall, decision: Decision, agent: str = "", *, cwd: str = ".") -> Decision:
        """The decision for a call that asks: the judge's allow/deny when it may judge and answers
        well; otherwise `decision` itself (the person is asked), its reason saying why."""
        if (why := self.guardrail(call, decision, cwd)) is not None:
            judged_kind = decision.behavior == "ask" and decision.source.startswith("mode:")
            return replace(decision, reason=f"{decision.reason}; not judged: {why}") if judged_kind else decision
        data = judge.JudgeInput(
            user_messages=self.user_messages(),
            rules=judge.rules_of(self.rules.allow, self.rules.ask, self.rules.deny),
            tool=call.name,
            arguments=call.arguments,
            history=tuple(self.history),
            why_asked=decision.reason,
        )
        started = time.monotonic()
        verdict, failure, name = None, "", "judge"
        try:
            model = self.model
            name = model.name
            if self._pending is not None and not self._pending.done():
                raise RuntimeError("it is still busy with an earlier call that ran out of time")
            # a late judge is left to finish, not cancelled: some models (llama.cpp) cannot stop
            # mid-answer, and a second call into them while one runs would crash the process
            task = asyncio.ensure_future(model.complete(judge.build_request(data), lambda e: None, CancelToken()))
            self._pending = task
            done, _ = await asyncio.wait({task}, timeout=self.timeout)
            if not done:
                raise TimeoutError
            reply = task.result()
            self.spend.usage += reply.usage
            verdict = judge.parse_verdict(reply.text) if reply.stop_reason != "error" else None
            if verdict is None:
                failure = f"the judge's answer was malformed: {_clip(reply.text or reply.error or 'nothing')}"
        except TimeoutError:
            failure = f"the judge did not answer within {self.timeout:g}s"
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a judge that breaks, whatever the way, must not decide anything
            failure = f"the judge failed: {_clip(str(e) or type(e).__name__)}"
        latency = int((time.monotonic() - started) * 1000)
        self.spend.latency_ms += latency
        self.spend.count += 1
        line = judge.call_line(call.name, call.arguments)
        who = f"{agent}: " if agent else ""
        if verdict is None:
            self.judgements.append(
                Judgement(
                    number=len(self.judgements) + 1,
                    call=line,
                    decision="failed",
                    reason=failure,
                    agent=agent,
                    latency_ms=latency,
                    tool=call.name,
                    arguments=dict(call.arguments),
                    cwd=cwd,
                )
            )
            self.emit(Notice(level="auto", text=f"{who}{_clip(line, 80)}: {failure}; asking instead"))
            return replace(decision, reason=f"{decision.reason}; {failure}")
        self.judgements.append(
            Judgement(
                number=len(self.judgements) + 1,
                call=line,
                decision=verdict.decision,
                reason=verdict.reason,
                agent=agent,
                latency_ms=latency,
                tool=call.name,
                arguments=dict(call.arguments),
                cwd=cwd,
            )
        )
        self.emit(
            Notice(
                level="auto",
                text=f"{who}{verdict.decision} {_clip(line, 80)}: {verdict.reason} ({name}, {latency / 1000:.1f}s)",
            )
        )
        return Decision(
            behavior=verdict.decision,
            source=f"auto:{name}",
            reason=f"the judge said: {verdict.reason}",
            agent=decision.agent,
        )

    def record(self, call: ToolCall, decision: Decision) -> None:
        """Note a decided call: an allowed one joins the history, one the person refused is never judged again."""
        if decision.behavior == "allow":
            self.history.append(judge.call_line(call.name, call.arguments))
        elif decision.source == "user":
            self.user_denied.append((call.name, similarity_keys(call.name, call.arguments)))

    def describe(self) -> list[str]:
        """The judgements so far, for `/permissions` (`/permissions allow|deny N` makes one a rule)."""
        lines = [
            (f"auto #{j.number} {j.decision}: {_clip(j.call, 100)} ({j.reason})" + (f" [{j.agent}]" if j.agent else ""))
            for j in self.judgements
        ]
        denied = [f"never judged (you denied it): {tool} {min(keys)}" for tool, keys in self.user_denied if keys]
        return lines + denied

    def adopt(
        self, number: int, kind: str, settings_file: Any = None, on_saved: Callable[[list[str]], None] | None = None
    ) -> str:
        """Turn judgement `number` into the narrowest rule of `kind` ("allow": saved like an
        "always" answer to `settings_file`, then told to `on_saved`; "deny": for the rest of the
        session). Returns the line to show."""
        from .grants import exact_as_rules, narrowest_rules, save_always
        from .rules import parse

        found = next((j for j in self.judgements if j.number == number), None)
        if found is None or kind not in ("allow", "deny"):
            return f"no judgement #{number}"
        parts = split_command(str(found.arguments.get("command", ""))) if found.tool == "Bash" else None
        if found.tool == "Bash" and parts is None:
            return f"judgement #{number}: the command cannot be read, so no rule can name it"
        texts = narrowest_rules(found.tool, found.arguments, found.cwd, parts)
        if kind == "allow":
            texts, starred = exact_as_rules(texts)
            if starred:  # as a rule, the command's own `*` would match any text
                return (
                    f"judgement #{number}: {', '.join(starred)} has a `*`, so no rule names it exactly; nothing saved"
                )
        getattr(self.rules, kind).extend(parse(t) for t in texts)
        if kind == "allow" and settings_file is not None:
            save_always(texts, settings_file)
            if on_saved is not None:
                on_saved(texts)
            return f"added to {settings_file}: {', '.join(texts)}"
        return f"{kind} for this session: {', '.join(texts)}"

    def cost_lines(self) -> list[str]:
        s = self.spend
        return [
            (
                f"auto-mode judge:   {s.count} judgement(s), ${s.usage.cost_usd:.4f}, "
                f"{s.usage.input_tokens:,} in / {s.usage.output_tokens:,} out, {s.latency_ms / 1000:.1f}s"
            )
        ]

    def result(self) -> dict[str, Any]:
        """The judge's figures for the headless result."""
        s = self.spend
        return {
            "judgements": s.count,
            "cost_usd": round(s.usage.cost_usd, 6),
            "latency_ms": s.latency_ms,
            "input_tokens": s.usage.input_tokens,
            "output_tokens": s.usage.output_tokens,
            "decisions": [{"call": j.call, "decision": j.decision, "reason": j.reason} for j in self.judgements],
        }

    def _foreign_host(self, call: ToolCall) -> str | None:
        hosts: list[str] = []
        if call.name == "WebFetch":
            hosts.append(urlsplit(str(call.arguments.get("url", ""))).hostname or "an unreadable URL")
        elif call.name == "Bash":
            command = str(call.arguments.get("command", ""))
            hosts += [urlsplit(u).hostname or "an unreadable URL" for u in URL.findall(command)]
            for part in split_command(command) or []:
                words = part.split()
                if words and words[0].rsplit("/", 1)[-1] in NETWORK_CLIENTS:
                    named = [m.group(1) for w in words[1:] if (m := SCP_HOST.match(w))]
                    named += [
                        w.split("@")[-1]
                        for w in words[1:]
                        if "." in w
                        and not w.startswith(("-", "/", "."))
                        and "://" not in w
                        and "/" not in w.split("@")[-1]
                    ]
                    if not named and not URL.search(part):  # a client whose host cannot be read
                        named = [f"the network ({words[0]})"]
                    hosts += named
        allowed = self._allowed()
        if "*" in allowed:  # the sandbox shares the whole network: every host may be judged
            return None
        return next((h for h in hosts if not any(h == d or h.endswith("." + d) for d in allowed)), None)

    def _allowed(self) -> set[str]:
        """Hosts allowed: the sandbox's, WebFetch domain rules', and those in the person's own messages."""
        domains = set(self.allowed_domains)
        domains |= {
            host for text in self.user_messages() for url in URL.findall(text) if (host := urlsplit(url).hostname)
        }
        for rule in self.rules.allow:
            if rule.tool == "WebFetch" and rule.specifier and rule.specifier.startswith("domain:"):
                domains.add(rule.specifier.removeprefix("domain:").removeprefix("*."))
        return domains


def _secret_read(call: ToolCall, cwd: str) -> str | None:
    """A credentials file the call reads, if any (Read/Grep paths, and every file a command reads)."""
    import os

    from . import shell
    from .targets import resolve

    home = os.path.expanduser("~")
    paths: list[str] = []
    if call.name == "Bash":
        analysis = shell.analyse(str(call.arguments.get("command", "")), home=home, cwd=cwd)
        for target in analysis.reads if analysis is not None else []:
            paths += resolve(target, cwd, home) or []
    elif path := call.arguments.get("file_path") or call.arguments.get("path"):
        raw = str(path)
        paths.append(os.path.join(cwd, home + raw[1:] if raw == "~" or raw.startswith("~/") else raw))
    return next((p for p in paths if SECRETS.search(os.path.normpath(p))), None)


def similarity_keys(tool: str, args: dict[str, Any]) -> frozenset[str]:
    """What makes two calls "the same request" for a person's earlier no: the file a file tool
    touches, the host of a URL, each program and subcommand a command runs (`git push`), or, for
    other tools, the arguments themselves."""
    if tool == "Bash":
        command = str(args.get("command", ""))
        parts = split_command(command) or [command]
        keys = set()
        for part in parts:
            words = [w for w in part.split() if "=" not in w or w.startswith("-")]
            program = [w for w in words if not w.startswith("-")][:2]
            if program:
                keys.add("bash:" + " ".join(program))
        return frozenset(keys)
    if path := args.get("file_path") or args.get("notebook_path") or args.get("path"):
        return frozenset({f"file:{path}"})
    if url := args.get("url"):
        return frozenset({f"host:{urlsplit(str(url)).hostname}"})
    return frozenset({"args:" + json.dumps(args, sort_keys=True, default=str)})


def default_judge_spec(main_model: str) -> str | None:
    """The judge for a main model `provider:id`: a small model of the same provider, or None to
    judge with the main model itself (offline and scripted models)."""
    return SMALL_MODELS.get(main_model.partition(":")[0])


def _clip(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def from_settings(
    cfg: Any,
    main_model: Model,
    resolve: Callable[[str], Model],
    rules: Rules,
    messages: Callable[[], Any],
    emit: Emit,
    *,
    eager: bool,
) -> AutoJudge:
    """The session's judge from settings: `autoMode.judgeModel` (any `provider:model`, an alias
    such as "haiku", or `scripted:FILE`), `autoMode.timeoutSeconds`, and the sandbox's
    `network.allowedDomains`. With `eager` (the session starts in auto mode) a judge model that
    cannot be built raises `ConfigError` now; otherwise at the first judgement, which then asks."""
    spec = cfg.get("autoMode.judgeModel") or default_judge_spec(main_model.name)
    try:
        timeout = float(cfg.get("autoMode.timeoutSeconds") or DEFAULT_TIMEOUT)
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT
    timeout = timeout if 0 < timeout <= 120 else DEFAULT_TIMEOUT
    model: Model | Callable[[], Model] = (lambda: resolve(spec)) if spec else main_model
    if eager and spec:
        model = resolve(spec)
    domains = cfg.get("sandbox.network.allowedDomains") or []
    return AutoJudge(
        rules=rules,
        user_messages=lambda: judge.user_texts(messages()),
        model=model,
        timeout=timeout,
        allowed_domains=tuple(str(d).removeprefix("*.") for d in domains if isinstance(d, str)),
        emit=emit,
    )
