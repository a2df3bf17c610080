import { api, show } from "/assets/api.js";

const token = decodeURIComponent(location.hash.slice(1));
const form = document.getElementById("setup-form");

if (!token) show("This page needs the setup link printed by the server when it started.", true);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  try {
    await api("POST", "/api/v1/setup", { setupToken: token, ...data });
    history.replaceState(null, "", "/setup");
    location.assign("/");
  } catch (error) {
    show(error.message, true);
  }
});
