"""Agents build requests for an engine and turn its replies into annotated records.

planner → counselor ⇄ client → critic → summarizer. No agent talks to a model directly; each
hands a Request to whatever engine the run uses.
"""
