"""What ``fit(verbose=...)`` prints: a progress bar per epoch (tqdm, else a text line) or one
line per epoch."""
from __future__ import annotations

import sys

__all__ = ["Progress"]


class Progress:
    """verbose=1: per epoch, a progress bar over the samples (tqdm; a plain text line without
    it) with the running loss and metrics, fed from C++ every ~20 ms while the epoch runs,
    ending with the epoch's logs; verbose=2: one printed line per epoch; 0: nothing.
    ``metric_logs(totals)`` turns the running sums (``_core.Totals``) into metrics."""

    def __init__(self, verbose: int, epochs: int, n_samples: int | None, metric_logs=None):
        # n_samples None: batches from a generator, their number unknown in advance
        self.verbose, self.epochs, self.n = verbose, epochs, n_samples
        self.metric_logs = metric_logs
        self.bar = None
        self.tqdm = None
        if verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            self.tqdm = tqdm

    @staticmethod
    def _fmt(logs):
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())

    def _running(self, totals):
        logs = {"loss": totals.loss}
        if self.metric_logs is not None and totals.weight > 0:
            logs.update(self.metric_logs(totals))
        return logs

    def start_epoch(self, epoch: int):
        """The callback for net.fit_epoch(progress=...), or None when nothing is drawn."""
        if self.verbose != 1:
            return None
        title = f"Epoch {epoch + 1}/{self.epochs}"
        if self.tqdm is not None:
            self.bar = self.tqdm(total=self.n, desc=title, unit="sample", leave=True,
                                 dynamic_ncols=True)

            def on_progress(totals):   # the epoch's running _core.Totals
                self.bar.set_postfix({k: f"{v:.4f}" for k, v in
                                      self._running(totals).items()}, refresh=False)
                self.bar.update(max(0, totals.count - self.bar.n))
        else:
            def on_progress(totals):
                self._text_line(title, totals.count, self._running(totals), "")
        return on_progress

    def _text_line(self, title, count, logs, end):
        n = count if self.n is None else self.n
        done = int(30 * min(count, n) / max(n, 1))
        sys.stdout.write(f"\r{title} [{'=' * done}{'.' * (30 - done)}] {self._fmt(logs)}{end}")
        sys.stdout.flush()

    def update(self, epoch: int, logs: dict, seconds: float):
        if self.verbose == 0:
            return
        if self.verbose == 2:
            print(f"Epoch {epoch + 1}/{self.epochs} - {seconds:.2f}s - {self._fmt(logs)}",
                  flush=True)
        elif self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            if self.n is not None:
                self.bar.update(max(0, self.n - self.bar.n))
            self.bar.close()
            self.bar = None
        else:
            self._text_line(f"Epoch {epoch + 1}/{self.epochs}", self.n or 0, logs,
                            f" - {seconds:.2f}s\n")

    def message(self, text: str):
        if self.verbose:
            (self.bar.write if self.bar is not None else print)(text)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
