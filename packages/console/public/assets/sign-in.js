import { api, show } from "/assets/api.js";

let csrfToken = null;

function render(me) {
  csrfToken = me.csrfToken;
  document.getElementById("signed-out").hidden = true;
  document.getElementById("signed-in").hidden = false;
  document.getElementById("welcome").textContent = `Signed in as ${me.user.name} (${me.user.email}).`;
  const list = document.getElementById("organizations");
  list.replaceChildren(
    ...me.organizations.map((org) => {
      const li = document.createElement("li");
      li.textContent = `${org.name}: ${org.role}`;
      return li;
    }),
  );
}

api("GET", "/api/v1/me").then(render, () => {});

document.getElementById("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target));
  try {
    render(await api("POST", "/api/v1/auth/sign-in", data));
    show("");
  } catch (error) {
    show(error.message, true);
  }
});

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await api("POST", "/api/v1/auth/sign-out", undefined, csrfToken);
    location.reload();
  } catch (error) {
    show(error.message, true);
  }
});
