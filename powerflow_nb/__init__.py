"""PowerFlow: fine-tune a language model toward the alpha-power of its own base model with length-aware trajectory balance, taught in notebooks.

Modules:

- `powerflow_nb.compare`: `powerflow compare --config FILE`: every method trained by the same `Trainer` on the same prompts with the same budget and seeds, every final policy evaluated on the same held-out problems; results, curves and a table.
- `powerflow_nb.creativity`: The measuring stick for PowerFlow's second claim: flattening an instruct model with α = 0.5 should raise the *diversity* of its answers to creative prompts without lowering their *quality*, and do better than simply raising the sampling temperature.
- `powerflow_nb.demo`: `powerflow demo` (and `make run`): α = 4 on the shipped tiny addition model, prompts WITHOUT labels, 2 CPU cores, 11-14 minutes; a before/after table and a run folder with metrics and charts.
- `powerflow_nb.lab`: Train a small exact language model with every objective the way an LLM is trained, and watch length collapse, length explosion and PowerFlow's fixed point happen, with every metric computed exactly by enumeration.
- `powerflow_nb.objectives`: Trajectory balance, its token-normalised and REINFORCE cousins, and PowerFlow's length-aware TB (LA-TB), as pure tensor functions with one signature, plus the log Z' estimators and importance weights they share.
- `powerflow_nb.references`: Low-temperature sampling at T = 1/α and power sampling (block Metropolis–Hastings): what PowerFlow must beat, and an unbiased sampler of its target; plus the inversion rate of a trained policy."""

__version__ = "0.0.1"
