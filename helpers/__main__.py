"""Command line: ``python -m helpers {prefetch,serve,standin,doctor}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prefetch", help="download everything the notebooks need into a mirror folder")
    p.add_argument("folder", type=Path)
    s = sub.add_parser("serve", help="serve a mirror folder read-only over HTTP")
    s.add_argument("folder", type=Path)
    s.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (0.0.0.0 for a workshop room; default %(default)s)")
    s.add_argument("--port", type=int, default=8000)
    t = sub.add_parser("standin", help="write the offline stand-in mirror (random weights)")
    t.add_argument("folder", type=Path)
    sub.add_parser("doctor", help="print versions, cache folder and asset status")
    args = parser.parse_args(argv)

    from . import assets

    try:
        if args.command == "prefetch":
            rows = assets.prefetch(args.folder)
            total = sum(r["size"] for r in rows)
            for r in rows:
                tag = "  (stand-in)" if r["standin"] else ""
                print(f"{r['size'] / 1e6:10.2f} MB  {r['path']}{tag}")
            print(f"{total / 1e6:10.2f} MB  in {len(rows)} files -> {args.folder}")
            print(f"Use it: export {assets.MIRROR_ENV}={args.folder.resolve()}  "
                  f"or share it: python -m helpers serve {args.folder} --host 0.0.0.0")
        elif args.command == "serve":
            from .server import make_server

            server = make_server(args.folder, host=args.host, port=args.port)
            host, port = server.server_address[:2]
            print(f"Serving {args.folder} read-only at http://{host}:{port}  (Ctrl-C stops)")
            print(f"Learners set: {assets.MIRROR_ENV}=http://<this machine's address>:{port}")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
        elif args.command == "standin":
            from .standin import build_mirror

            print(build_mirror(args.folder))
        elif args.command == "doctor":
            from .doctor import report

            print(report())
    except assets.AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
