import { strict as assert } from "node:assert";
import { canaryValue } from "../../support";
import { T, loadStackFile, ofType, runStack } from "./harness";

/**
 * Seed 001 rules out personal access tokens; GitHub accepts nothing else for changing an App installation's
 * repositories (stacks/README.md, "githubToken"). So the stack works without one, and when an operator sets one for
 * the run that changes the membership, removing it afterwards must not un-install the App from those repositories.
 */
describe("stacks program: GitHub App installation repositories and the optional githubToken (mocks)", function () {
    this.timeout(60000);
    const apps = () => (loadStackFile("staging").githubApps as any[]).map((a) => ({ ...a }));

    it("without githubToken: no github provider and no AppInstallationRepositories; the generator still scopes each token to the app's repositories", async () => {
        const run = await runStack("staging");
        assert.equal(ofType(run, T.appInstallationRepositories).length, 0);
        assert.equal(run.resources.filter((r) => r.type === "pulumi:providers:github").length, 0);
        const gen = ofType(run, T.githubAccessToken).find((r) => r.name === "github-app-triage-generator")!;
        assert.deepEqual(gen.inputs.spec.repositories, ["platform", "docs"]);
    });

    it("with githubToken: one AppInstallationRepositories per app, retained on delete, and the token reaches only the provider", async () => {
        const token = canaryValue();
        const run = await runStack("dev", { overrides: { githubApps: apps() }, secrets: { githubToken: token } });
        const repos = ofType(run, T.appInstallationRepositories);
        assert.equal(repos.length, 5);
        for (const r of repos) assert.equal(r.meta.retainOnDelete, true, `${r.name}: removing the token later only forgets it`);
        const provider = run.resources.find((r) => r.type === "pulumi:providers:github")!;
        assert.deepEqual(run.resources.filter((r) => r !== provider && JSON.stringify(r.inputs).includes(token)).map((r) => r.name), []);
    });
});
