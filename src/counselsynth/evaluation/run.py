"""An `evaluate` run: every scenario of the chosen suites, `sessions` times each, as one CaseRun.

The run folder is a run like `generate`'s (dialogues.jsonl, manifest.json, failures.jsonl, the
run lock, resume by repeating the command), each case being one evaluated session with its
verdicts in `evaluation`. A session is short, so one that was cut off is redone from its start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from counselsynth.coder.model import CoderFile
from counselsynth.engines.base import Engine
from counselsynth.engines.llm import LLMEngine
from counselsynth.errors import InputError
from counselsynth.evaluation.scenarios import Suite
from counselsynth.evaluation.session import Evaluator, Probe
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.languages import primary_subtag
from counselsynth.models import AgentName, Persona, RunManifest, RunStatus
from counselsynth.personas import PersonaSet
from counselsynth.prompts import PromptLibrary
from counselsynth.redaction import redact
from counselsynth.runloop import OPEN_CASES_PER_SLOT, CaseRun, Totals, new_run_id, versions

SIMULATED_AGENTS: tuple[AgentName, ...] = ("client", "critic")


def plan_probes(suites: Sequence[Suite], personas: Sequence[Persona], sessions: int) -> list[Probe]:
    """`sessions` probes per scenario, each with a persona that meets the scenario's constraints
    (dealt in turn, so repeats meet different clients when there are several), preferring
    personas in the suite's language."""
    probes: list[Probe] = []
    for suite in suites:
        for scenario in suite.scenarios:
            wanted = scenario.persona.problems
            fitting = [p for p in personas if not wanted or p.presenting_problem.category in wanted]
            # Clients who speak the suite's language first: a persona's free text is in its own language.
            fitting = [p for p in fitting if primary_subtag(p.language) == suite.language] or fitting
            if not fitting:
                raise InputError(
                    f"scenario '{suite.suite}.{scenario.id}' needs a persona with a presenting problem in "
                    f"{', '.join(wanted)}; the persona file has none"
                )
            probes.extend(
                Probe(suite, scenario, repeat, fitting[(repeat - 1) % len(fitting)])
                for repeat in range(1, sessions + 1)
            )
    return probes


class Evaluation(CaseRun[Probe]):
    """One `evaluate` run. Construct, then `await run()`."""

    def __init__(
        self,
        *,
        suites: Sequence[Suite],
        personas: PersonaSet,
        catalog: FrameworkCatalog,
        prompts: PromptLibrary,
        simulator: Engine,
        under_test: LLMEngine,
        coder: CoderFile,
        system_prompt: str | None,
        sessions: int,
        seed: int,
        concurrency: int,
        out_dir: Path,
        resume: bool = False,
        on_case: Callable[[str, Totals], None] = lambda case_id, tally: None,
    ) -> None:
        self.suites = list(suites)
        self.personas = personas
        self.catalog = catalog
        self.prompts = prompts
        self.simulator = simulator
        self.engine = self.under_test = under_test
        self.sessions = sessions
        self.seed = seed
        self.concurrency = concurrency
        self.out_dir = out_dir
        self.resume = resume
        self.on_case = on_case
        self.system_prompt = system_prompt
        self.coder = coder
        self.items = plan_probes(self.suites, personas.personas, sessions)
        self.evaluator = Evaluator(simulator, under_test, catalog, prompts, coder, system_prompt, seed)
        for engine in (simulator, under_test):
            engine.limit_calls(concurrency)
        self.run_id = new_run_id()
        self._inputs = {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in personas.files}

    def engines(self) -> list[Engine]:
        return [self.engine, self.simulator]

    def models(self) -> dict[str, str]:
        return {
            "counselor": self.engine.model_for("counselor"),
            **{agent: self.simulator.model_for(agent) for agent in SIMULATED_AGENTS},
        }

    def fingerprint(self) -> dict[str, Any]:
        return {
            "command": "evaluate",
            "suites": {s.suite: hashlib.sha256(s.model_dump_json().encode()).hexdigest() for s in self.suites},
            "sessions": self.sessions,
            "seed": self.seed,
            "engine": self.simulator.name,
            "models": self.models(),
            "system_prompt": hashlib.sha256(self.system_prompt.encode()).hexdigest() if self.system_prompt else None,
            "coder": self.coder.name,
            "inputs": list(self._inputs.values()),
        }

    def manifest(self, status: RunStatus, **extra: Any) -> RunManifest:
        return RunManifest(
            run_id=self.run_id,
            status=status,
            engine=self.simulator.name,
            offline=self.simulator.offline,
            models=self.models(),
            seed=self.seed,
            # The endpoint is not in the fingerprint: a local server restarted on another port
            # still resumes the same run.
            settings={**self.fingerprint(), "api_base": self._api_base(), "concurrency": self.concurrency},
            versions=versions(),
            inputs=self._inputs,
            framework_hashes=dict(self.catalog.hashes),
            prompt_hashes=self.prompts.hashes(),
            policy_hashes={},
            planned_cases=[probe.case_id for probe in self.items],
            skipped=[str(p) for p in self.personas.problems],
            **extra,
        )

    def _api_base(self) -> str | None:
        api_base = self.under_test.config.for_agent("counselor").api_base
        return redact(api_base) if api_base else None

    def case_id(self, item: Probe) -> str:
        return item.case_id

    async def produce(self, item: Probe) -> tuple[str, Totals]:
        case = await self.evaluator.run(item)
        return case.model_dump_json(), Totals.of(case)

    def cache_hits(self) -> int:
        return self.simulator.cache_hits()

    def open_cases(self) -> int:
        return OPEN_CASES_PER_SLOT * self.concurrency
