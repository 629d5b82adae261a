"""`python -m layerlab.core.distributed PROJECT ...`: one DDP worker (torchrun starts them).
It leaves through `exit_process` (ending.py says why)."""
from .ending import exit_process
from .worker import main

if __name__ == "__main__":
    exit_process(main())
