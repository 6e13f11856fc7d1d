"""Sessions on other machines, reached with the system OpenSSH client: the host list, the
ssh transport, the installer that puts this harnex on a host, and RemoteSession."""
