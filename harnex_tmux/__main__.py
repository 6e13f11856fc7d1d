from harnex_tmux.cli.main import main

main()
