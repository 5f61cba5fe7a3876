"""Names of config keys that the command line's parser needs: kept apart from `simvae.config` (which
imports torch and the method registry) so that `simvae --help` imports neither. `simvae.config` re-exports them.
"""

# train settings that say where a run executes, not what it computes: a resume or a rerun may change them
EXECUTION_KEYS = ("devices", "num_nodes", "accelerator", "strategy", "sync_batchnorm", "threads")
# train settings that only watch a run (its logs, learning-curve probes under a saved RNG): not part of what it is
MONITOR_KEYS = ("loggers", "eval_every")
# what `simvae train --resume RUN key=value` may change besides eval.*: where the run executes, what watches it,
# the learning rate (the NaN guard's advice: continue the last good checkpoint with a lower one), the epochs (to
# extend a run) and compilation; every change is recorded in the run's provenance.json
RESUME_KEYS = (*(f"train.{key}" for key in (*EXECUTION_KEYS, *MONITOR_KEYS)), "train.lr", "train.epochs",
               "train.checkpoint_every", "train.compile")
# the sections that make a run what it is; `eval` only changes how it is judged (`simvae eval RUN eval.key=value`)
TRAINING_SECTIONS = ("data", "augment", "net", "method", "train")
