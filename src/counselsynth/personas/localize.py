"""A persona's name and place, moved into another language's locale.

Both augmentation and native generation localize personas: a Swahili corpus whose clients are
all called Daniel and live in Leeds is not a Swahili corpus. The new name and city come from the
locale's name source and city list (personas/distributions), drawn with a seed from the persona
id, so the same persona gets the same local identity in every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

from counselsynth.languages import language, primary_subtag
from counselsynth.models import Persona
from counselsynth.personas.distributions import load_distributions
from counselsynth.personas.names import locale_profile
from counselsynth.personas.tables import NameGender


@dataclass(frozen=True)
class Localized:
    persona: Persona
    # Source names and places -> their replacements, longest first, for the translator prompt.
    replacements: dict[str, str]


@cache
def _gender_words() -> dict[str, NameGender]:
    """Every pool's words for female and male (English, Spanish, Persian, Swahili, ...)."""
    words: dict[str, NameGender] = {"woman": "female", "man": "male", "girl": "female", "boy": "male"}
    for pool in load_distributions().pools.values():
        for key in ("female", "male"):
            if key in pool.genders:
                words[pool.genders[key].casefold()] = key
    return words


def localize(persona: Persona, target: str, seed: int) -> Localized:
    """The persona with a name and a city of the target language's locale."""
    lang = language(target)
    if primary_subtag(persona.language) == primary_subtag(target):
        return Localized(persona, {})
    distributions = load_distributions()
    profile = locale_profile(distributions, lang.locale)
    rng = random.Random(f"{seed}:{persona.id}:{primary_subtag(target)}")
    fallback: NameGender = "female" if rng.random() < 0.5 else "male"
    gender = _gender_words().get(persona.demographics.gender.casefold(), fallback)
    name = profile.names.draw(gender, rng)
    place = profile.places.draw(rng, english=False)
    pool = distributions.pool_for(primary_subtag(target))
    location = pool.place_format.format(city=place.city, country=place.country)

    replacements: dict[str, str] = {persona.demographics.name: name.full}
    old_parts = persona.demographics.name.split()
    if old_parts and old_parts[0] != persona.demographics.name:
        replacements[old_parts[0]] = name.given
        family = name.full.replace(name.given, "", 1).strip()
        if len(old_parts) > 1 and family:
            replacements[old_parts[-1]] = family
    old_place = [part.strip() for part in persona.demographics.location.split(",") if part.strip()]
    if old_place:
        replacements.setdefault(old_place[0], place.city)
        if len(old_place) > 1:
            replacements.setdefault(old_place[-1], place.country)
    demographics = persona.demographics.model_copy(update={"name": name.full, "location": location})
    localized = persona.model_copy(
        update={"language": primary_subtag(target), "locale": lang.locale, "demographics": demographics}
    )
    ordered = dict(sorted(replacements.items(), key=lambda item: -len(item[0])))
    return Localized(localized, ordered)
