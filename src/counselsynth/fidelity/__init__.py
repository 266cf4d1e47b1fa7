"""Fidelity: how close a corpus is to real counseling sessions, and a policy fitted on real ones.

sources.yaml / sources.py       real corpora: citation, license, label -> code mappings
annomi.py, esconv.py            readers of the real files (AnnoMI CSV; ESConv JSON / JSONL)
transcripts.py, corpora.py      real dialogues -> Cases; `import-corpus`
measures.py, language.py        what is measured per session, and on a text sample
tally.py, profile.py            a corpus read and measured; reference profiles (numbers only)
schemes.yaml / schemes.py       classes on which code mixes are compared (and fitted)
kinds.yaml                      codes whose kind (question / reflection) is known without MITI
metrics.yaml / settings.py      metric definitions, tolerances, test settings
comparison.py                   two-sample tests that account for both samples' variability
metrics.py, c2st.py, check.py   the axes, the classifier test, the check
report.py, plots.py             fidelity.json, fidelity.md and figures
policy_fit.yaml / policy_fit.py `policy fit`: the counselor's strategy policy from real codes
"""
