"""nbconvert's ExecutePreprocessor, but it keeps listening for a moment after a cell reports idle.

The Deno kernel sometimes publishes a cell's result (execute_result / display_data) just after its
"idle" status; nbclient stops reading at "idle", so that output would be lost. This preprocessor
drains messages for the same cell for `grace_s` seconds after idle. Used by `deno task notebooks`:

    PYTHONPATH=notebooks jupyter nbconvert --to notebook \
      --NotebookExporter.preprocessors='["_grace_execute.GraceExecutePreprocessor"]' \
      --GraceExecutePreprocessor.enabled=True --ExecutePreprocessor.kernel_name=deno-local nb.ipynb
"""
from queue import Empty
from time import monotonic

from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets import Float


class GraceExecutePreprocessor(ExecutePreprocessor):
    grace_s = Float(0.4, help="Seconds to keep reading a cell's output after its idle status").tag(
        config=True
    )
    first_output_grace_s = Float(
        3.0, help="Seconds to wait after idle for a cell that has produced no output at all yet"
    ).tag(config=True)

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        assert self.kc is not None
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                # Every cell of the series shows something: one with no output yet is most likely
                # waiting for a late result, so it gets longer (a loaded machine delays it more).
                wait_s = self.grace_s if cell.get("outputs") else self.first_output_grace_s
                deadline = monotonic() + wait_s
                while True:
                    remaining = deadline - monotonic()
                    if remaining <= 0:
                        return
                    try:
                        late = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
                    except Empty:
                        return
                    if (
                        late["parent_header"].get("msg_id") == parent_msg_id
                        and late["msg_type"] != "status"
                    ):
                        try:
                            self.process_message(late, cell, cell_index)
                        except CellExecutionComplete:
                            pass
                        # Got it: the usual short grace for anything after it.
                        deadline = min(deadline, monotonic() + self.grace_s)
