# Packages the everyday tools' tests need (no servers of their own):
#   tmux  tests/tools_redis_cli.rs drives the interactive redis-cli in a
#         real terminal (send-keys, capture-pane).

tools_packages() {
    need tmux command -v tmux
}

PACKAGE_HOOKS+=(tools_packages)
