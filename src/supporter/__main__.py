from supporter.cli.app import main

main()
