// Package deploycheck holds no code, only tests: they check the deployment files at the
// repository root (template.yaml, serverless.yml, Makefile, README.md and docs/,
// manifest.example.json) against the official schemas and against the code they deploy.
//
// The schema tests read the AWS SAM JSON schema and the Serverless Components scf input schema
// vendored in testdata/schemas (their sources, commits and licences are in its README.md), so
// they run on every clone and never skip. The checks against the code: binary and handler names,
// runtime, routes, the scheduled reconcile and refresh messages, the ENVSHARE_* variables and
// their defaults, secrets kept out of the files, memory sizes, the queue's partial batch
// responses and dead-letter queue.
// On AWS they also evaluate the template's conditions and policies for every token mode (the IAM
// grants must be exactly the contract's), the variables derived from the template's own resources
// (ENVSHARE_RETRY_QUEUE_URL, ENVSHARE_PUBLIC_URL), and look for circular dependencies.
package deploycheck
