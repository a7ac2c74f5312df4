from aegis.cli.app import main

main()
