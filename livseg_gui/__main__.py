from livseg_gui.cli import main

raise SystemExit(main())
