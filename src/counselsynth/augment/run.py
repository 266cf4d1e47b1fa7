"""`counselsynth augment`: a finished run translated into another language, as a new run.

The new run has the same record format and the same case ids, links back to its source run
(manifest `source_run`, each case's `translation`), and keeps every annotation of the source.
It shares generation's run folder life cycle (runloop.CaseRun): cases in flight on one loop,
appended as they finish, resumed by repeating the command. Interrupted cases restart, and the
response cache (cache.sqlite) answers the calls they had already made, so nothing is paid twice.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from counselsynth.augment.gates import Gates
from counselsynth.augment.identify import identify
from counselsynth.augment.languages import GATES_FILE, gate_settings
from counselsynth.augment.translate import CaseTranslator
from counselsynth.corpus import DIALOGUES, MANIFEST, read_manifest
from counselsynth.engines.llm import LLMEngine
from counselsynth.errors import DataFileError, InputError, WrongLanguageError
from counselsynth.languages import LANGUAGES_FILE, Language, check_pair, language, primary_subtag
from counselsynth.models import TRANSLATION_AGENTS, Case, Persona, RunManifest, RunStatus
from counselsynth.personas.localize import localize
from counselsynth.prompts import PromptLibrary
from counselsynth.runlock import reading_lock
from counselsynth.runloop import OPEN_CASES_PER_SLOT, CaseRun, Totals, new_run_id, versions


@dataclass(frozen=True)
class AugmentSettings:
    source_dir: Path
    out_dir: Path
    target: str
    culture: str | None = None
    seed: int = 0
    limit: int | None = None
    concurrency: int = 8
    resume: bool = False


@dataclass(frozen=True)
class SourceCase:
    case_id: str
    language: str
    offset: int


class Augmentation(CaseRun[SourceCase]):
    engine: LLMEngine

    def __init__(self, settings: AugmentSettings, engine: LLMEngine, prompts: PromptLibrary) -> None:
        self.settings = settings
        self.engine = engine
        self.prompts = prompts
        self.out_dir = settings.out_dir
        self.resume = settings.resume
        self.on_case = lambda case_id, tally: None
        self.target = language(settings.target)
        self.target_code = primary_subtag(settings.target)
        self.gate_settings = gate_settings()
        self.source = self._check_source()
        self.items, self.skipped, self.source_sha256 = self._plan()
        data = b"".join(path.read_bytes() for path in (LANGUAGES_FILE, GATES_FILE))
        self.gates_sha256 = hashlib.sha256(data).hexdigest()
        self.run_id = new_run_id()
        self._verdicts: list[tuple[bool, str]] = []
        engine.limit_calls(settings.concurrency)

    def _check_source(self) -> RunManifest:
        source = self.settings.source_dir
        if not (source / MANIFEST).is_file() or not (source / DIALOGUES).is_file():
            raise InputError(f"{source} is not a finished run: it has no {MANIFEST} and {DIALOGUES}")
        manifest = read_manifest(source)
        if manifest.status != "complete":
            raise InputError(
                f"{source} is a run that is {manifest.status}, not complete: finish it first "
                "(repeat its generate command, or add --resume)"
            )
        if self.settings.out_dir.resolve() == source.resolve():
            raise InputError("--out must be a new folder, not the source run")
        return manifest

    def _plan(self) -> tuple[list[SourceCase], list[str], str]:
        """The source cases by byte offset (records are read one at a time, when translated),
        the cases already in the target language, and the sha256 of the source dialogues."""
        items: list[SourceCase] = []
        skipped: list[str] = []
        path = self.settings.source_dir / DIALOGUES
        digest = hashlib.sha256()
        offset = 0
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                digest.update(line)
                try:
                    head = json.loads(line)
                    case_id, text_language = str(head["case_id"]), str(head["language"])
                except (ValueError, KeyError, TypeError):
                    raise DataFileError(path, f"line {number}", "case_id", "not a case record") from None
                if primary_subtag(text_language) == self.target_code:
                    skipped.append(f"{case_id}: already in '{self.target_code}'")
                else:
                    check_pair(text_language, self.target_code)
                    items.append(SourceCase(case_id, primary_subtag(text_language), offset))
                offset += len(line)
        if self.settings.limit is not None:
            items = items[: self.settings.limit]
        if not items:
            check_pair(self.target_code, self.target_code)  # every case is in the target language
        return items, skipped, digest.hexdigest()

    def case_id(self, item: SourceCase) -> str:
        return item.case_id

    @asynccontextmanager
    async def resources(self) -> AsyncIterator[None]:
        # The source run is read case by case while translating: no writer may touch it meanwhile.
        with reading_lock(self.settings.source_dir):
            yield

    def open_cases(self) -> int:
        return OPEN_CASES_PER_SLOT * self.settings.concurrency

    def cache_hits(self) -> int:
        return self.engine.cache.hits if self.engine.cache is not None else 0

    def fingerprint(self) -> dict[str, Any]:
        return {
            "source_run_id": self.source.run_id,
            "source_sha256": self.source_sha256,
            "target": self.target_code,
            "culture": self.settings.culture,
            "seed": self.settings.seed,
            "limit": self.settings.limit,
            "engine": self.engine.name,
            "models": {agent: self.engine.model_for(agent) for agent in TRANSLATION_AGENTS},
            "gates_sha256": self.gates_sha256,
        }

    def manifest(self, status: RunStatus, **extra: Any) -> RunManifest:
        source = self.source
        warnings = list(extra.pop("warnings", []))
        if source.offline:
            warnings.append(
                "the source dialogues were written by the offline engine (template text, not an LLM); "
                "this run translates them"
            )
        return RunManifest(
            run_id=self.run_id,
            status=status,
            engine=self.engine.name,
            offline=source.offline,
            models={agent: self.engine.model_for(agent) for agent in TRANSLATION_AGENTS},
            seed=self.settings.seed,
            settings={**self.fingerprint(), "concurrency": self.settings.concurrency},
            versions=versions(),
            inputs={str(self.settings.source_dir / DIALOGUES): self.source_sha256},
            framework_hashes=source.framework_hashes,
            prompt_hashes={n: h for n, h in self.prompts.hashes().items() if n.split("/")[0] in TRANSLATION_AGENTS},
            policy_hashes={},
            planned_cases=[item.case_id for item in self.items],
            skipped=self.skipped,
            warnings=warnings,
            source_run={
                "path": str(self.settings.source_dir),
                "run_id": source.run_id,
                "dialogues_sha256": self.source_sha256,
            },
            **extra,
        )

    async def produce(self, item: SourceCase) -> tuple[str, Totals]:
        with (self.settings.source_dir / DIALOGUES).open("rb") as handle:
            handle.seek(item.offset)
            case = Case.model_validate_json(handle.readline())
        source_language: Language = language(item.language)
        translator = CaseTranslator(
            case=case,
            localized=localize(Persona.model_validate(case.persona), self.target_code, self.settings.seed),
            source_code=item.language,
            target_code=self.target_code,
            culture_note=self.settings.culture,
            source_run_id=self.source.run_id,
            engine=self.engine,
            prompts=self.prompts,
            gates=Gates(source_language, self.target, self.gate_settings),
            seed=self.settings.seed,
            on_language_verdict=self._language_verdict,
        )
        translated = await translator.translate()
        return translated.model_dump_json(), Totals.of(translated)

    def _language_verdict(self, failed: bool, text: str) -> None:
        """Stop early when the model plainly does not write the target language."""
        rule = self.gate_settings.wrong_language
        if len(self._verdicts) >= rule.first_turns:
            return
        self._verdicts.append((failed, text))
        if len(self._verdicts) < rule.first_turns:
            return
        failures = [text for failed, text in self._verdicts if failed]
        if len(failures) >= rule.stop_share * rule.first_turns:
            found = Counter(identify(text) for text in failures).most_common(1)[0][0]
            raise WrongLanguageError(
                f"'{self.engine.model_for('translator')}' does not write {self.target.name} ({self.target_code}): "
                f"{len(failures)} of the first {rule.first_turns} turns checked still read as '{found}' after "
                f"{self.gate_settings.retries} retries; stopped (finished cases are kept); try another model"
            )
