import { api, show } from "/assets/api.js";

const token = decodeURIComponent(location.hash.slice(1));
const form = document.getElementById("accept-form");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { name, password } = Object.fromEntries(new FormData(form));
  const body = { token };
  if (name) body.name = name;
  if (password) body.password = password;
  try {
    await api("POST", "/api/v1/invitations/accept", body);
    show("You have joined the organisation. Sign in to continue.");
    setTimeout(() => location.assign("/"), 1500);
  } catch (error) {
    show(error.message, true);
  }
});
