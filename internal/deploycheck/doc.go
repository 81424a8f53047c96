// Package deploycheck holds no code, only tests: they check the deployment files at the
// repository root (template.yaml, serverless.yml, Makefile, README.md, manifest.example.json)
// against the official schemas and against the code they deploy.
//
// The schema tests read the AWS SAM JSON schema and the Serverless Components scf input schema
// from ../shared/schemas beside the repository, and are skipped, saying so, when it is absent.
// The checks against the code always run: binary and handler names, runtime, routes, the
// scheduled reconcile message, the ENVSHARE_* variables and their defaults, the queue's partial
// batch responses and dead-letter queue.
package deploycheck
