"""An independent coder of counselor behaviour: does a turn's text perform the code it carries?

A generator labels each counselor turn with the code it was asked to perform. The coder reads
only the text and predicts the code class (the fidelity check's scheme classes, e.g. open/closed
question, simple/complex reflection), so the agreement between labels and text can be measured
the way real-data papers report inter-annotator agreement (Cohen's kappa).

A coder file holds hashed n-gram weights of a logistic regression and the figures of its own
grouped cross-validation: no vocabulary and no text of the corpus it was fitted on.
"""

from counselsynth.coder.fit import fit_coder
from counselsynth.coder.model import CoderFile, load_coder, shipped_coders

__all__ = ["CoderFile", "fit_coder", "load_coder", "shipped_coders"]
