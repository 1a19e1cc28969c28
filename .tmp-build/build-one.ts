import { ensureBinaries } from "../test/env/build";
import { pulumiCliSpec, kubernetesProviderSpec } from "../test/env/pulumi-binaries";
const which = process.argv[2];
const spec = which === "cli" ? pulumiCliSpec() : kubernetesProviderSpec("4.34.2");
const t0 = Date.now();
ensureBinaries(spec).then((r) => { console.log(JSON.stringify({ which, builtSeconds: r.builtSeconds, wall: (Date.now()-t0)/1000, paths: r.paths })); }, (e) => { console.error(String(e)); process.exit(1); });
