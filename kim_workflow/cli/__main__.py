"""``python -m kim_workflow.cli``: the same as ``kim``."""

from kim_workflow.cli import main

main()
