"""`layerlab generate RUN [--prompt TEXT] [--length N] [--temperature T] [--top-k K] [--seed S]`:
sample text from a finished next-token run (the text data set) with its weights, and print it.
Temperature 0 is greedy; the same seed gives the same text. A run of any other kind is refused
in one line (exit 2)."""
from __future__ import annotations

import json

from .cli import CliError


def register(sub) -> None:
    p = sub.add_parser("generate", help="sample text from a next-token run (temperature, top-k, seeded)")
    p.add_argument("run", help="a run folder of a next-token run (text data set)")
    p.add_argument("--prompt", default="", help="the text the sample continues (default: a new line)")
    p.add_argument("--length", type=int, default=200, help="tokens to generate (default 200)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="divides the logits: below 1 safer, above 1 wilder; 0 = greedy (default 1)")
    p.add_argument("--top-k", type=int, default=0, help="sample only among the K likeliest tokens (0 = all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling generator (default 0)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="where the project's relative data paths start (default: the folder above runs/)")
    p.add_argument("--perplexity", action="store_true",
                   help="also print the validation perplexity (loads the run's data)")
    p.add_argument("--json", action="store_true", help="print the sample as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from .train.generate import GenerateError, generate_run
    try:
        out = generate_run(args.run, args.prompt, args.length, args.temperature, args.top_k, args.seed,
                           base_dir=args.data_dir, with_perplexity=args.perplexity or args.json)
    except GenerateError as e:
        raise CliError(str(e), 2) from None
    if args.json:
        print(json.dumps({"event": "generated", **out}), flush=True)
        return 0
    print(args.prompt + out["text"])
    if out.get("val_perplexity") is not None:
        print(f"validation perplexity {out['val_perplexity']:.3f} ({out['weights']})")
    return 0
