"""Child process of the kill-and-resume test: a slowed-down fit that writes its position.

Usage: python resume_child.py CASE DATA OUT. It fits the case with ``checkpoint_dir=OUT/ck``
and writes ``epoch step`` to ``OUT/progress`` after every step, sleeping a little so that the
parent can kill it in the middle of an epoch. The sleep does not change what is computed.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from resume_cases import CASES, fit_arguments

from synthgan.core.callbacks import Callback


class Slow(Callback):
    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_step_end(self, step: int) -> None:
        (OUT / "progress.tmp").write_text(f"{self.epoch} {step}")
        (OUT / "progress.tmp").replace(OUT / "progress")
        time.sleep(0.02)


if __name__ == "__main__":
    name, data, OUT = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    make, kind = CASES[name]
    args, kwargs = fit_arguments(kind, data)
    make(checkpoint_dir=str(OUT / "ck")).fit(*args, **kwargs, callbacks=[Slow()])
