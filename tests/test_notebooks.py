"""The analysts' notebooks run top to bottom on the demo city in a fresh kernel of this
environment's Python, and read as notebooks: prose, and figures with titles and legends. They
are kept in git without outputs; they run here in memory."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: This environment's kernels only: a kernel a user installed elsewhere would run another
#: Python. (Its ``python`` is this interpreter: jupyter_client starts ``sys.executable``.)
KERNELS = Path(sys.prefix) / "share" / "jupyter" / "kernels"


class ThisPythonsKernel(AsyncKernelManager):
    """A kernel manager that looks for kernels in this environment alone."""

    @default("kernel_spec_manager")
    def _kernels(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[str(KERNELS)])


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_a_notebook_is_kept_without_outputs_and_reads_as_prose(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.outputs and c.execution_count is None for c in code_cells(notebook))
    prose = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert prose and prose[0].startswith("# ") and notebook.cells[0].cell_type == "markdown"
    assert len(prose) >= 3 and sum(len(text.split()) for text in prose) >= 150


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_a_notebook_runs_top_to_bottom_with_titled_figures(path, tmp_path, monkeypatch):
    monkeypatch.delenv("SIMTARU_NOTEBOOK_STORE", raising=False)  # the demo city, never a store
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's temporary folders, removed after
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        kernel_manager_class=ThisPythonsKernel,
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    drawn = [
        c for c in code_cells(notebook) if any("image/png" in o.get("data", {}) for o in c.outputs)
    ]
    assert drawn, "a notebook shows figures"
    for cell in drawn:
        assert "set_title(" in cell.source or "suptitle(" in cell.source, cell.source
        assert "legend" in cell.source or "colorbar" in cell.source, cell.source
    assert list(tmp_path.iterdir()), "what a notebook writes goes to a temporary folder"
