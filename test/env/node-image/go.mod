module platform-secrets.local/ps-tiny

go 1.22
