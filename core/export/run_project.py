"""Which project a run's weights are exported with. A run folder keeps the project exactly as it
trained (project.layerlab.json); after the graph is edited, the current project no longer fits the
run's weights, so an export of those weights uses the run's own project and says so."""
from __future__ import annotations

from pathlib import Path

from ..project import Project
from ..train.run_files import PROJECT_FILE, read_project


def network_of(project: Project) -> dict:
    """The graph as it decides the network and its weights' keys: nodes (id, type, name, params)
    and edges; positions on the canvas are left out."""
    doc = project.graph.to_dict()
    return {"nodes": [{k: v for k, v in n.items() if k != "pos"} for n in doc["nodes"]], "edges": doc["edges"]}


def run_project(project: Project, weights_path) -> tuple[Project, str]:
    """(project to export with, note): the run's own project when `weights_path` lies in a run folder
    whose project.layerlab.json has another network than `project`; else `project` and ""."""
    if weights_path is None:
        return project, ""
    folder = Path(weights_path).parent
    trained = read_project(folder)
    if trained is None or network_of(trained) == network_of(project):
        return project, ""
    return trained, (f"used the run's own project ({folder / PROJECT_FILE}): the current graph differs "
                     "from the one this run trained")
