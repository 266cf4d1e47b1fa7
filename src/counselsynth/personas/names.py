"""Where a sampled persona's name and place come from, for one locale.

Names come from Faker's person provider for the locale, unless Faker lacks the locale or quietly
falls back to its English names, which it does without a warning: `Faker("am_ET").name()` gives
"Kathryn Scott", because Faker resolves every provider it has no locale-specific module for to
en_US. We detect that in two ways: the locale Faker's person provider actually resolved to (each
provider records it), and, as a guard against a provider that exists but inherits its name lists,
whether the names it draws are all en_US names although the locale's language is not English.
Either way the hand-made table of fallback_names.yaml is used instead; a locale with neither is
refused. Places always come from the locale catalogue (real cities, see locales.yaml).
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from faker import Faker
from faker.providers.person import Provider as BasePersonProvider

from counselsynth.errors import UnknownNameError
from counselsynth.personas.distributions import Distributions
from counselsynth.personas.pools import Country, LocaleEntry, NameTable, english_name, local_name
from counselsynth.personas.tables import NameGender

PERSON_PROVIDER = "faker.providers.person"
ENGLISH_FAKER_LOCALE = "en_US"
# Share of drawn names that must be en_US names before a non-English locale counts as fallen back.
ENGLISH_LOOKALIKE_SHARE = 0.9
PROBE_DRAWS = 40


@dataclass(frozen=True)
class PersonName:
    full: str
    given: str


class NameSource(Protocol):
    @property
    def origin(self) -> str:
        """Where names come from, for reports: 'faker:fa_IR' or 'table:am_ET'."""
        ...

    def draw(self, gender: NameGender, rng: random.Random) -> PersonName: ...


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rng: random.Random, items: Sequence[str], cumulative: Sequence[float]) -> str:
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


@dataclass
class _Formats:
    templates: list[str]
    cumulative: list[float]

    @classmethod
    def of(cls, entry: LocaleEntry) -> _Formats:
        return cls(list(entry.name_formats), _cumulative(list(entry.name_formats.values())))

    def render(self, rng: random.Random, given: str, family: Callable[[], str]) -> str:
        """Fill a name format; each {family} is drawn on its own (two surnames are two draws)."""
        template = _pick(rng, self.templates, self.cumulative)
        parts = template.split("{family}")
        out = [parts[0].replace("{given}", given)]
        for part in parts[1:]:
            out.append(family())
            out.append(part.replace("{given}", given))
        return "".join(out).strip()


NamePart = Callable[[random.Random], str]
# For each name part: the person-provider method, the list it reads, and the method it falls back
# on when the locale has no such list (Faker's base person provider works this way).
PARTS: dict[str, tuple[str, str, str]] = {
    "first_name_female": ("first_name_female", "first_names_female", "first_name"),
    "first_name_male": ("first_name_male", "first_names_male", "first_name"),
    "last_name_female": ("last_name_female", "last_names_female", "last_name"),
    "last_name_male": ("last_name_male", "last_names_male", "last_name"),
}
FALLBACK_LISTS = {"first_name": "first_names", "last_name": "last_names"}


def _list_sampler(values: Any) -> NamePart:
    """Draw from a Faker name list as Faker does: weighted if it maps names to weights, else uniform."""
    if isinstance(values, Mapping):
        names = [str(name) for name in values]
        cumulative = _cumulative([float(w) for w in values.values()])
        return lambda rng: _pick(rng, names, cumulative)
    items = [str(name) for name in values]
    return lambda rng: rng.choice(items)


class FakerNames:
    """Names from Faker's person provider of one locale, drawn with the persona's own RNG.

    Where the locale's provider keeps the base provider's methods, the part is drawn straight
    from the same list with the same weights (Faker rebuilds the weights of a thousand-name list
    on every call, which made names most of the sampling time). Where a locale overrides a method
    (ja_JP, pl_PL and others do), Faker's own method is called.
    """

    def __init__(self, faker_locale: str, entry: LocaleEntry) -> None:
        self.faker_locale = faker_locale
        # The generator behind the proxy: Faker's methods without the proxy's dispatch per call.
        self._fake: Any = Faker(faker_locale, providers=[PERSON_PROVIDER]).factories[0]
        self._formats = _Formats.of(entry)
        self._parts = {name: self._part(*spec) for name, spec in PARTS.items()}

    def _part(self, method: str, own_list: str, fallback: str) -> NamePart:
        provider = self._fake.providers[0]
        kind = type(provider)

        def inherited(name: str) -> bool:
            return getattr(kind, name, None) is getattr(BasePersonProvider, name, None)

        if inherited(method):
            if hasattr(provider, own_list):
                return _list_sampler(getattr(provider, own_list))
            if inherited(fallback) and hasattr(provider, FALLBACK_LISTS[fallback]):
                return _list_sampler(getattr(provider, FALLBACK_LISTS[fallback]))
        bound = getattr(self._fake, method)

        def call(rng: random.Random) -> str:
            # Faker draws from the persona's own stream through its public `random` setter.
            self._fake.random = rng
            return str(bound())

        return call

    @property
    def origin(self) -> str:
        return f"faker:{self.faker_locale}"

    def draw(self, gender: NameGender, rng: random.Random) -> PersonName:
        given = self._parts[f"first_name_{gender}"](rng)
        family = self._parts[f"last_name_{gender}"]
        # Faker lists hold a few multi-word given names ("Mary Grace"); they stay whole.
        return PersonName(self._formats.render(rng, given, lambda: family(rng)), given)


class TableNames:
    """Names from a hand-made table of fallback_names.yaml."""

    def __init__(self, table_locale: str, table: NameTable, entry: LocaleEntry) -> None:
        self.table_locale = table_locale
        self._table = table
        self._group_cumulative = _cumulative([g.weight for g in table.groups])
        self._formats = _Formats.of(entry)

    @property
    def origin(self) -> str:
        return f"table:{self.table_locale}"

    def draw(self, gender: NameGender, rng: random.Random) -> PersonName:
        index = bisect.bisect_right(self._group_cumulative, rng.random() * self._group_cumulative[-1])
        group = self._table.groups[index]
        given = rng.choice(group.given_female if gender == "female" else group.given_male)
        families = group.family_names
        if not families:
            return PersonName(given, given)

        def family() -> str:
            return rng.choice(families)

        return PersonName(self._formats.render(rng, given, family), given)


@dataclass(frozen=True)
class Place:
    city: str
    country: str


class LocalePlaces:
    """Real cities of the locale's countries; English names when the profile text is English."""

    def __init__(self, countries: Sequence[Country]) -> None:
        self._countries = list(countries)
        self._cumulative = _cumulative([c.weight for c in countries])

    def draw(self, rng: random.Random, *, english: bool) -> Place:
        index = bisect.bisect_right(self._cumulative, rng.random() * self._cumulative[-1])
        country = self._countries[index]
        city = rng.choice(country.cities)
        name = english_name if english else local_name
        return Place(name(city), name(country.name))


def faker_person_locale(locale: str) -> str | None:
    """The locale Faker's person provider resolves `locale` to, or None when Faker lacks it."""
    try:
        fake = Faker(locale, providers=[PERSON_PROVIDER])
    except AttributeError:  # Faker's way of saying "no such locale"
        return None
    # Faker records on each provider the locale module it really loaded (`__lang__`).
    return str(fake.factories[0].providers[0].__lang__)


@cache
def _english_names() -> tuple[frozenset[str], frozenset[str]]:
    provider = Faker(ENGLISH_FAKER_LOCALE, providers=[PERSON_PROVIDER]).factories[0].providers[0]

    def names(*attributes: str) -> frozenset[str]:
        # en_US keeps its names in the attributes Faker's base person provider reads; should a
        # Faker release rename them, this check finds nothing and the resolution check remains.
        found: set[str] = set()
        for attribute in attributes:
            found.update(getattr(provider, attribute, ()))
        return frozenset(found)

    return names("first_names", "first_names_female", "first_names_male"), names("last_names")


def looks_english(faker_locale: str) -> bool:
    """Whether Faker's names for `faker_locale` are en_US names (a partial English fallback)."""
    english_given, english_family = _english_names()
    fake = Faker(faker_locale, providers=[PERSON_PROVIDER])
    fake.seed_instance(0)
    given = [fake.first_name_female() for _ in range(PROBE_DRAWS)] + [
        fake.first_name_male() for _ in range(PROBE_DRAWS)
    ]
    family = [fake.last_name() for _ in range(PROBE_DRAWS)]
    share_given = sum(g in english_given for g in given) / len(given)
    share_family = sum(f in english_family for f in family) / len(family)
    return share_given >= ENGLISH_LOOKALIKE_SHARE and share_family >= ENGLISH_LOOKALIKE_SHARE


@dataclass(frozen=True)
class NameResolution:
    """Why a locale's names come from where they do; printed by `personas sample`."""

    locale: str
    source_locale: str
    faker_resolved: str | None
    origin: str

    @property
    def fell_back(self) -> bool:
        return self.origin.startswith("table:")

    def describe(self) -> str:
        if not self.fell_back:
            return f"{self.locale}: names from Faker ({self.source_locale})"
        if self.faker_resolved is None:
            why = f"Faker has no {self.source_locale} locale"
        elif self.faker_resolved != self.source_locale:
            why = f"Faker falls back to {self.faker_resolved} names"
        else:
            why = f"Faker's {self.source_locale} names are English names"
        return f"{self.locale}: names from the fallback table ({why})"


@dataclass(frozen=True)
class LocaleProfile:
    locale: str
    entry: LocaleEntry
    names: NameSource
    places: LocalePlaces
    resolution: NameResolution


def resolve_names(distributions: Distributions, locale: str) -> tuple[NameSource, NameResolution]:
    entry = distributions.locales.locales[locale]
    source_locale = entry.names_from or locale
    language = distributions.locales.locales[source_locale].language
    resolved = faker_person_locale(source_locale)
    faker_ok = resolved == source_locale and (language == "en" or not looks_english(source_locale))
    source: NameSource
    if faker_ok:
        source = FakerNames(source_locale, entry)
    elif source_locale in distributions.fallback_names.tables:
        source = TableNames(source_locale, distributions.fallback_names.tables[source_locale], entry)
    else:
        problem = "Faker lacks it" if resolved is None else f"Faker gives {resolved} names"
        raise UnknownNameError(
            f"locale with names ({locale}: {problem} and fallback_names.yaml has no table)",
            locale,
            [*distributions.fallback_names.tables],
        )
    return source, NameResolution(locale, source_locale, resolved, source.origin)


_profiles: dict[tuple[str, str], LocaleProfile] = {}


def locale_profile(distributions: Distributions, locale: str) -> LocaleProfile:
    """Names and places for `locale`; an unknown locale lists the valid ones."""
    if locale not in distributions.locales.locales:
        raise UnknownNameError("locale", locale, distributions.locales.locales)
    key = (distributions.digest, locale)
    if key not in _profiles:
        entry = distributions.locales.locales[locale]
        names, resolution = resolve_names(distributions, locale)
        _profiles[key] = LocaleProfile(locale, entry, names, LocalePlaces(entry.countries), resolution)
    return _profiles[key]
