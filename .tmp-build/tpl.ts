import { renderTemplate } from "../test/standins/eso-template";
import { dockerConfigTemplate, kargoImageTemplate } from "../stacks/eso/manifests";
const d = { username: 'bot"x', password: "p{{w}}" };
const t = dockerConfigTemplate("ghcr.io")[".dockerconfigjson"]!;
const r = renderTemplate(t, d);
console.log(r, JSON.parse(r).auths["ghcr.io"].auth === Buffer.from('bot"x:p{{w}}').toString("base64"));
const k = kargoImageTemplate("^ghcr.io/{{x}}", true);
console.log(Object.fromEntries(Object.entries(k.data).map(([a, b]) => [a, renderTemplate(b, d)])));
