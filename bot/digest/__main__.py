from bot.digest.cli import main

raise SystemExit(main())
