from ccbrowser.cli import main

raise SystemExit(main())
