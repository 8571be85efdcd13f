from staxad.cli import main

raise SystemExit(main())
